-- The CNAF instruction flow VIRS0901 (issue 17, point 4): new RSA applications sent by @RSA before the beneficiary
-- stock lists them (flows caf-instruction, msa-instruction). Stored only while a purpose declares them, like any
-- catalogue field.
--
-- ModesContacts is a block of DonneesAdministratives: one per foyer (dossier), not per person. The phone and the
-- e-mail leave only to a purpose that declares them under the foyer's consent (AUTORUTITEL / AUTORUTIADRELEC = A,
-- accord d'utilisation): src/purposes/project.ts. They are written only by the instruction flow: a beneficiary file
-- (VRSB0801 carries no ModesContacts) never clears them.
alter table dossiers add column telephone text;
alter table dossiers add column accord_telephone text;
alter table dossiers add column email text;
alter table dossiers add column accord_email text;

-- Per person: SuiviAppuiOrientation (state of the socio-professional data collection) and the DSP elements the
-- accompaniment purpose declares. DSP elements that may reveal health or disability (DIFSOC, DIFDISP) get no
-- column: no purpose declares them with an Art. 9(2) condition.
alter table persons add column dsp_statut text;
alter table persons add column dsp_date date;
alter table persons add column niveau_etude text;
alter table persons add column inscription_demandeur_emploi text;
alter table persons add column permis_b boolean;
alter table persons add column moyen_transport boolean;

-- The archive keeps none of them (flows/retention/rsa-beneficiaires.yaml `keeps`), but its tables mirror the
-- active ones column for column.
alter table archive.dossiers add column telephone text;
alter table archive.dossiers add column accord_telephone text;
alter table archive.dossiers add column email text;
alter table archive.dossiers add column accord_email text;
alter table archive.persons add column dsp_statut text;
alter table archive.persons add column dsp_date date;
alter table archive.persons add column niveau_etude text;
alter table archive.persons add column inscription_demandeur_emploi text;
alter table archive.persons add column permis_b boolean;
alter table archive.persons add column moyen_transport boolean;
