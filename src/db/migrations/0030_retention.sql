-- Retention (issue 5): the intermediate archive, legal holds.
--
-- The archive is a separate schema that no API route, token or partner role reaches: only the retention run and
-- the audited break-glass command (`passerelle archive show`) read it. Its tables mirror the canonical tables with
-- every column nullable: a row keeps only the fields its policy's archive phase declares (`keeps`), the others
-- are NULL. Each archived row records the policy that governs it and the day its archive clock started
-- (`anchor_day`); destruction is due on anchor_day + the archive duration (+ the destroy delay).
create schema archive;
revoke all on schema archive from public;

create table archive.dossiers (
  -- The dossier's id in the active base when it was first archived.
  id bigint primary key,
  public_id uuid not null,
  policy_id text not null,
  flow_id text not null,
  organisme text not null,
  numdemrsa text not null,
  matricule text,
  numorg text,
  date_demande date,
  etat_droit text,
  motif_refus text,
  date_refus date,
  motif_suspension_droit text,
  date_suspension_droit date,
  motif_suspension_versement text,
  date_suspension_versement date,
  motif_cloture text,
  date_cloture date,
  situation_familiale text,
  date_situation_familiale date,
  nombre_personnes integer,
  nombre_enfants integer,
  nombre_enfants_a_charge integer,
  sans_domicile_fixe boolean,
  foyer_soumis_droits_devoirs boolean,
  origine_demande text,
  montant_droit_total numeric(11, 2),
  adresse_numero_voie text,
  adresse_type_voie text,
  adresse_nom_voie text,
  adresse_complement_destinataire text,
  adresse_complement text,
  adresse_lieu_dit text,
  adresse_code_postal text,
  adresse_code_insee text,
  adresse_commune text,
  adresse_pays text,
  adresse_hors_france text,
  transmission_state text,
  not_transmitted_since date,
  file_id bigint not null,
  transmitted_at timestamptz not null,
  anchor_day date not null,
  archived_at timestamptz not null,
  unique (organisme, numdemrsa)
);
create index archive_dossiers_due_idx on archive.dossiers (policy_id, anchor_day);

create table archive.persons (
  id bigint primary key,
  public_id uuid not null,
  policy_id text not null,
  match_key text not null unique,
  nir_index text,
  nir_cipher bytea,
  qualite text,
  nom text,
  nom_naissance text,
  prenom text,
  prenom2 text,
  prenom3 text,
  date_naissance date,
  sexe text,
  commune_naissance text,
  file_id bigint not null,
  transmitted_at timestamptz not null,
  anchor_day date not null,
  archived_at timestamptz not null
);
create index archive_persons_due_idx on archive.persons (policy_id, anchor_day);

create table archive.dossier_members (
  dossier_id bigint not null references archive.dossiers (id) on delete cascade,
  person_id bigint not null references archive.persons (id),
  role text,
  responsable_dossier boolean,
  a_charge boolean,
  soumis_droits_devoirs boolean,
  entrant_droits_devoirs boolean,
  identifiant_pole_emploi text,
  ressources_mensuelles numeric(11, 2),
  activite text,
  file_id bigint not null,
  transmitted_at timestamptz not null,
  primary key (dossier_id, person_id)
);
create index archive_dossier_members_person_idx on archive.dossier_members (person_id);

create table archive.france_travail_registrations (
  id bigint primary key,
  policy_id text not null,
  person_key text not null unique,
  identifiant_pe text,
  etat text,
  date_etat date,
  code text,
  motif text,
  code_insee text,
  localite text,
  adresse text,
  ale text,
  file_id bigint not null,
  transmitted_at timestamptz not null,
  anchor_day date not null,
  archived_at timestamptz not null
);
create index archive_ft_due_idx on archive.france_travail_registrations (policy_id, anchor_day);

-- The history of an archived dossier or registration (codes and dates, no identity), destroyed with it.
create table archive.state_changes (
  id bigint primary key,
  dossier_id bigint references archive.dossiers (id) on delete cascade,
  person_key text,
  field text not null,
  old_value text,
  new_value text,
  effective_date date,
  file_id bigint not null,
  transmitted_at timestamptz not null
);
create index archive_state_changes_dossier_idx on archive.state_changes (dossier_id);
create index archive_state_changes_person_idx on archive.state_changes (person_key);

-- Legal holds: while a hold stands (released_at is null), the dossier, its members and persons, and their France
-- Travail registrations may be archived but are never destroyed. A hold names its dossier by organisme and
-- NUMDEMRSA; once the dossier is destroyed after the release, the NUMDEMRSA is erased and only its keyed pseudonym
-- (the audit subject) remains, so the hold's history does not outlive the data.
create table legal_holds (
  id bigserial primary key,
  organisme text not null,
  numdemrsa text,
  dossier_subject text not null,
  reason text not null check (length(reason) between 1 and 1000),
  reference text check (length(reference) <= 200),
  created_by text not null,
  created_at timestamptz not null default now(),
  released_at timestamptz,
  released_by text,
  release_reason text check (length(release_reason) <= 1000)
);
create index legal_holds_standing_idx on legal_holds (organisme, numdemrsa) where released_at is null;
create index legal_holds_subject_idx on legal_holds (dossier_subject);
