-- Records a file carries that are not for this département (a field declared `invalid: skip`, e.g. the SPIE lines
-- with brsa = N): left out before they are stored, neither loaded nor rejected. The file's summary counts them and
-- why, by field and rule ({"brsa brsa_code": 1}), never a value.
alter table files add column records_skipped integer not null default 0;
alter table files add column skips jsonb not null default '{}'::jsonb;
