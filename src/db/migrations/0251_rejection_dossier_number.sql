-- A replayable rejection per dossier (issue 17, point 6): a CNAF record rejected in a file names its dossier by
-- NUMDEMRSA, so that the operator can ask the CAF or MSA for a corrected single-dossier file and load it with
-- `passerelle ingest --file`, without the whole stock again (`passerelle rejections dossiers --file <id>`).
--
-- NUMDEMRSA is the organisme's case number, not an identity: no name, NIR, address or birth date comes with it, and
-- it is what the CAF or MSA needs to find the dossier. It is kept only when it reads as a dossier number (10 or 11
-- characters), never a MATRICULE (which the MSA may fill with the NIR). It lives as long as the rejection row
-- (retention policy `rejections`). NULL for France Travail and orientation rows, and when it could not be read.
alter table rejections add column numdemrsa text;
