-- A pending orientation message whose decision no longer holds is withdrawn, never sent: its assignment was
-- cancelled (or removed) before delivery, or a decision starting later was already delivered to France Travail (a
-- back-dated decision would overwrite the current one there). A withdrawn message does not hold back the person's
-- later messages, unlike a dead one.
alter table outbox_messages drop constraint outbox_messages_state_check;
alter table outbox_messages add constraint outbox_messages_state_check check (state in ('pending', 'delivered', 'dead', 'withdrawn'));
drop index outbox_messages_pending_idx;
create index outbox_messages_pending_idx on outbox_messages (topic, person_id, id) where state in ('pending', 'dead');
