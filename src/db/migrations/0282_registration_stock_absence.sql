-- A France Travail stock (the monthly fichier-PE-CG, the CSV stock) replaces the list of its flow, as a CNAF stock
-- does for dossiers (0250): a registration the flow's latest stock no longer lists is marked no longer transmitted,
-- never deleted (retention decides, from its last transmission). `flow_id` is the flow of the file that last listed
-- the person; a later file listing them again marks them transmitted. Rows written before this migration have no
-- flow and are marked by no stock until a file lists them again.
alter table france_travail_registrations add column flow_id text;
alter table france_travail_registrations add column transmission_state text not null default 'transmitted'
  check (transmission_state in ('transmitted', 'not_transmitted'));
alter table france_travail_registrations add column not_transmitted_since date;
create index france_travail_registrations_flow_idx on france_travail_registrations (flow_id, transmission_state);
