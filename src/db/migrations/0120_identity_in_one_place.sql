-- A person's identity exists in exactly one place (issue 13, point 9; flows/retention/rsa-beneficiaires.yaml).
--
-- A person leaves the active base with the last active dossier they are a member of (or on their own clock when
-- they left every foyer), whatever France Travail still sends about them: a registration carries no identity and
-- is never served without an active person. What refers to the person by id follows them:
--  - assignments move to archive.assignments (never served, read by break-glass; never revived);
--  - limitations and contested-field flags keep the person's id (no foreign key any more): they apply again if the
--    person comes back, and are deleted when the archived person is destroyed or erased.
-- A person who is still active (another dossier) or has come back keeps in the archive a row without identity
-- (`identity_active`): its archived dossiers' members still point at it, the identity is read in the active base.
alter table archive.persons add column identity_active boolean not null default false;

create table archive.assignments (
  id bigint primary key,
  public_id uuid not null,
  -- archive.persons.id (no foreign key: see 0031).
  person_id bigint not null,
  organisation_id bigint not null,
  referent_user_id bigint,
  starts_on date not null,
  ends_on date,
  source text not null,
  file_id bigint,
  created_by_user_id bigint,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  archived_at timestamptz not null
);
create index archive_assignments_person_idx on archive.assignments (person_id);

alter table limitations drop constraint limitations_person_id_fkey;
alter table rights_contested_fields drop constraint rights_contested_fields_person_id_fkey;

-- A file that brings an archived person back re-activates them: the active row takes the archived row's id and
-- public id (their limitations and contested flags apply again), and the archived row keeps only its keys.
-- Every writer of persons goes through here, so no path can create a second identity.
create function archive.reactivate_person() returns trigger
language plpgsql
as $$
declare
  archived record;
begin
  select ap.id, ap.public_id into archived
  from archive.persons ap
  where ap.match_key = new.match_key
    and not ap.identity_active;
  if found then
    new.id := archived.id;
    new.public_id := archived.public_id;
    update archive.persons
    set identity_active = true,
        nir_cipher = null, qualite = null, nom = null, nom_naissance = null, prenom = null, prenom2 = null,
        prenom3 = null, date_naissance = null, sexe = null, commune_naissance = null
    where id = archived.id;
  end if;
  return new;
end
$$;

create trigger persons_reactivate_from_archive
before insert on persons
for each row
execute function archive.reactivate_person();

-- Existing data: a person still a member of an active dossier keeps their identity in the active base only.
-- (A person kept active only by a France Travail registration is moved out by the next retention run.)
update archive.persons ap
set identity_active = true,
    nir_cipher = null, qualite = null, nom = null, nom_naissance = null, prenom = null, prenom2 = null,
    prenom3 = null, date_naissance = null, sexe = null, commune_naissance = null
from persons p
where p.match_key = ap.match_key
  and exists (select 1 from dossier_members dm where dm.person_id = p.id);
