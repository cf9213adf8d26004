-- A person deleted (retention, erasure) cascades to their outbox messages: the key needs a full index of its own.
create index outbox_messages_person_idx on outbox_messages (person_id);
