-- A record rejected because an earlier record of the same file already stands for the same dossier, person or
-- assignment (`duplicate_dossier`, `duplicate_registration`, `duplicate_assignment`) names that record by its
-- position in the file (0-based record index and 1-based line), never by a value.
alter table rejections add column duplicate_of_record_index integer;
alter table rejections add column duplicate_of_line integer;
