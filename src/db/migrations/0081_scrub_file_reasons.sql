-- Rejection messages once quoted what they read as element or attribute names; when a `>` was lost after a
-- start tag, that "name" held the value that followed (`<NIR2921093965529>`, `<NOMNAIFOFANA>`, `attribute MOULIN
-- of <LIEUDISTLE>`), and it was kept in files.reason for good. Messages now quote only names the schema declares.
-- Here every stored reason that could hold such a value is replaced: any reason quoting something in angle
-- brackets, naming an attribute, or holding 13 digits in a row (a NIR's length). The rejection code (before the
-- first ": ") is kept; the rejections rows (record, line, field, rule: never a value) are untouched and still say
-- where the file failed. Over-scrubbing a harmless message is accepted; leaving a value is not. Idempotent.
update files
set reason = coalesce(substring(reason from '^([a-z_]{1,40}): '), 'rejected')
  || ': message withdrawn by migration 0081 (it could quote a value of the file); the rejections rows name the record, line and rule'
where reason is not null
  and (strpos(reason, '<') > 0 or strpos(reason, '>') > 0 or reason ilike '%attribute%' or reason ~ '[0-9]{13}')
  and strpos(reason, 'withdrawn by migration 0081') = 0;
