-- Order per dossier, not per file (issue 17, point 1). A CNAF file is no longer refused because a file created
-- after it was loaded first: each dossier and person keeps the creation time (DTCREAFLUX + HEUCREAFLUX) of the file
-- that last decided it, and a record older than that does not overwrite it (it is counted as superseded).
--
-- dossiers.transmitted_at already holds the creation time of the file that last wrote the dossier. A stock that
-- marks a dossier no longer transmitted also decides its state without writing it: `state_as_of` is the creation
-- time of the last file that either wrote the dossier or marked it absent, so that an older daily file arriving
-- late cannot bring back a dossier a newer stock dropped. NULL (rows written before this migration, or by hand)
-- reads as transmitted_at.
alter table dossiers add column state_as_of timestamptz;

-- Records of a file that were older than what was stored (not written, not rejected).
alter table files add column records_superseded integer not null default 0;
