-- Credit status for the systems that lend (issue 15, part 3): a blacklist entry can be de-listed by a
-- supervisor, with who, when and why (audited); the entry itself stays.
alter table blacklist add column delisted_at timestamptz, add column delisted_by text, add column delist_reason text;
create index debtors_id_number on debtors (id_number) where id_number is not null;

-- The systems that lend read credit status with keys of their own role.
alter table api_keys drop constraint api_keys_role_check;
alter table api_keys add constraint api_keys_role_check
  check (role in ('collector', 'field-officer', 'supervisor', 'legal', 'admin', 'manager', 'finance', 'lending'));
