-- Portfolio pages read a caller's assignments in person order and stop after one page: with the dates in the
-- index, they are read from the index alone instead of one heap page per assignment.
drop index assignments_referent_idx;
create index assignments_referent_idx on assignments (referent_user_id, person_id) include (starts_on, ends_on) where referent_user_id is not null;
drop index assignments_organisation_idx;
create index assignments_organisation_idx on assignments (organisation_id, person_id) include (starts_on, ends_on);
