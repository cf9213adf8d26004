-- Evenement blocks of VRSB0801 daily files (issue 17, point 5): what triggered the movement (FG, fait générateur:
-- an opening, a suspension, a change of address or family situation...) and when (DTLIQ). The accompaniment purpose
-- declares them (a referent acts on a change of situation); stored only while a purpose declares them, like any
-- catalogue field. Anomalie blocks (LIBANO, free text of anomaly flows) are never stored: no purpose needs them.
alter table dossiers add column dernier_evenement_date date;
alter table dossiers add column dernier_evenement_faits_generateurs text;
alter table archive.dossiers add column dernier_evenement_date date;
alter table archive.dossiers add column dernier_evenement_faits_generateurs text;
