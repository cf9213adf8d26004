-- Ingestion bookkeeping and the canonical model of RSA dossiers, persons and France Travail registrations.
-- Personal columns are nullable: minimisation leaves NULL every field that no purpose declares.

create table files (
  id bigserial primary key,
  flow_id text not null,
  name text not null,
  size bigint not null,
  sha256 text not null,
  status text not null check (status in ('loaded', 'rejected')),
  kind text,
  source text not null check (source in ('sftp', 'local')),
  transmitted_at timestamptz,
  reference_date date,
  records_total integer not null default 0,
  records_accepted integer not null default 0,
  records_rejected integer not null default 0,
  reason text,
  started_at timestamptz not null,
  finished_at timestamptz not null default now()
);
create unique index files_fingerprint_key on files (flow_id, name, size, sha256);
create index files_flow_finished_idx on files (flow_id, finished_at desc);

-- A rejected record: where and which rule, never the value.
create table rejections (
  id bigserial primary key,
  file_id bigint not null references files (id) on delete cascade,
  record_index integer not null,
  line integer,
  field text not null,
  rule text not null,
  created_at timestamptz not null default now()
);
create index rejections_file_idx on rejections (file_id);

-- Last file applied per flow (and per kind of file where kinds sequence independently).
create table flow_progress (
  flow_id text not null,
  kind text not null,
  last_file_id bigint not null references files (id),
  last_transmitted_at timestamptz not null,
  primary key (flow_id, kind)
);

create table dossiers (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
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
  transmission_state text not null default 'transmitted' check (transmission_state in ('transmitted', 'not_transmitted')),
  not_transmitted_since date,
  file_id bigint not null references files (id),
  transmitted_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organisme, numdemrsa)
);
create index dossiers_flow_idx on dossiers (flow_id, transmission_state);

-- A person, matched across flows on a keyed blind index of the NIR's first 13 digits and the birth date.
create table persons (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
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
  file_id bigint not null references files (id),
  transmitted_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index persons_nir_index_idx on persons (nir_index);

-- A person's place in a dossier (RSA prestation).
create table dossier_members (
  dossier_id bigint not null references dossiers (id) on delete cascade,
  person_id bigint not null references persons (id) on delete cascade,
  role text not null,
  responsable_dossier boolean,
  a_charge boolean,
  soumis_droits_devoirs boolean,
  entrant_droits_devoirs boolean,
  identifiant_pole_emploi text,
  ressources_mensuelles numeric(11, 2),
  activite text,
  file_id bigint not null references files (id),
  transmitted_at timestamptz not null,
  primary key (dossier_id, person_id)
);
create index dossier_members_person_idx on dossier_members (person_id);

-- Current France Travail state of a person (the match key links it to persons, which may arrive later).
create table france_travail_registrations (
  id bigserial primary key,
  person_key text not null unique,
  identifiant_pe text,
  etat text not null check (etat in ('inscription', 'cessation', 'radiation')),
  date_etat date,
  code text,
  motif text,
  code_insee text,
  localite text,
  adresse text,
  ale text,
  file_id bigint not null references files (id),
  transmitted_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- State changes seen across successive files, for the history of a dossier or a registration.
create table state_changes (
  id bigserial primary key,
  dossier_id bigint references dossiers (id) on delete cascade,
  person_key text,
  field text not null,
  old_value text,
  new_value text,
  effective_date date,
  file_id bigint not null references files (id),
  transmitted_at timestamptz not null
);
create index state_changes_dossier_idx on state_changes (dossier_id);
create index state_changes_person_idx on state_changes (person_key);

-- Every scheduled or manual job run (imports, retention, extracts).
create table job_runs (
  id bigserial primary key,
  job text not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  outcome text check (outcome in ('running', 'succeeded', 'failed', 'skipped')),
  counts jsonb not null default '{}',
  error text
);
create index job_runs_job_idx on job_runs (job, started_at desc);
