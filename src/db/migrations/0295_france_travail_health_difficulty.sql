-- The SPIE extract's `dif_sante` flag (France Travail: the job seeker declared a health difficulty): GDPR Art. 9
-- data. A catalogue field (category sante) so that a purpose may declare it only with an Art. 9(2) condition, which
-- `passerelle check` enforces; while no purpose declares it (the shipped configuration), ingestion never stores it
-- and this column stays empty.
alter table france_travail_registrations add column difficulte_sante boolean;
alter table archive.france_travail_registrations add column difficulte_sante boolean;
