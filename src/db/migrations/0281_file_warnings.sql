-- Warnings of a loaded file (issue 15, point 1): a field declared `invalid: warn` whose value breaks its rule (the
-- dirty optional dates of the fichier-PE-CG, `2020`) is stored empty and the record kept; the file's summary counts
-- the records so kept and the warnings by field and rule ({"date_dernier_entretien date_format": 12}), never a value.
alter table files add column records_warned integer not null default 0;
alter table files add column warnings jsonb not null default '{}'::jsonb;
