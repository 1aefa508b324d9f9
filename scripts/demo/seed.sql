-- A synthetic research dataset for the demo: three related tables that
-- between them hold every logical type, with comments on tables and columns.
-- Every value is made up; generate_series makes the rows reproducible.
CREATE SCHEMA research;
COMMENT ON SCHEMA research IS 'Synthetic cohort study (demo data, no real people)';

CREATE TYPE research.sex AS ENUM ('female', 'male', 'unknown');

CREATE TABLE research.person (
  person_id    bigint PRIMARY KEY,
  pseudo_id    uuid NOT NULL,
  sex          research.sex NOT NULL,
  birth_date   date,
  height_cm    numeric(5,1),
  weight_kg    double precision,
  consented    boolean NOT NULL,
  notes        text,
  enrolled_at  timestamptz NOT NULL
);
COMMENT ON TABLE research.person IS 'Study participants, one row per person';
COMMENT ON COLUMN research.person.person_id IS 'Study-wide participant number';
COMMENT ON COLUMN research.person.pseudo_id IS 'Pseudonymous identifier shared with linked datasets';
COMMENT ON COLUMN research.person.sex IS 'Recorded sex';
COMMENT ON COLUMN research.person.birth_date IS 'Date of birth (synthetic)';
COMMENT ON COLUMN research.person.height_cm IS 'Height at enrolment in centimetres';
COMMENT ON COLUMN research.person.weight_kg IS 'Weight at enrolment in kilograms';
COMMENT ON COLUMN research.person.consented IS 'Consent to data linkage given';
COMMENT ON COLUMN research.person.notes IS 'Free-text note from the enrolling clinician';
COMMENT ON COLUMN research.person.enrolled_at IS 'When the participant was enrolled';

CREATE TABLE research.visit (
  visit_id     bigint PRIMARY KEY,
  person_id    bigint NOT NULL REFERENCES research.person (person_id),
  visit_start  timestamp NOT NULL,
  check_in     time,
  duration     interval,
  site         varchar(40) NOT NULL,
  attributes   jsonb,
  tags         text[]
);
COMMENT ON TABLE research.visit IS 'Clinic visits of participants';
COMMENT ON COLUMN research.visit.visit_id IS 'Visit number';
COMMENT ON COLUMN research.visit.person_id IS 'The participant (person.person_id)';
COMMENT ON COLUMN research.visit.visit_start IS 'Local start time of the visit';
COMMENT ON COLUMN research.visit.check_in IS 'Reception check-in time';
COMMENT ON COLUMN research.visit.duration IS 'Length of the visit';
COMMENT ON COLUMN research.visit.site IS 'Clinic site name';
COMMENT ON COLUMN research.visit.attributes IS 'Structured visit attributes';
COMMENT ON COLUMN research.visit.tags IS 'Free tags';

CREATE TABLE research.measurement (
  measurement_id bigint PRIMARY KEY,
  visit_id       bigint NOT NULL REFERENCES research.visit (visit_id),
  code           varchar(16) NOT NULL,
  value          numeric(12,4),
  repeat_count   smallint NOT NULL,
  device_serial  integer,
  ratio          real,
  taken_at       timestamptz NOT NULL,
  raw_reading    bytea
);
COMMENT ON TABLE research.measurement IS 'Observations taken at visits';
COMMENT ON COLUMN research.measurement.measurement_id IS 'Measurement number';
COMMENT ON COLUMN research.measurement.visit_id IS 'The visit (visit.visit_id)';
COMMENT ON COLUMN research.measurement.code IS 'Observation code';
COMMENT ON COLUMN research.measurement.value IS 'Observed value, exact';
COMMENT ON COLUMN research.measurement.repeat_count IS 'How many readings were averaged';
COMMENT ON COLUMN research.measurement.device_serial IS 'Serial number of the device';
COMMENT ON COLUMN research.measurement.ratio IS 'Signal quality ratio';
COMMENT ON COLUMN research.measurement.taken_at IS 'When the observation was taken';
COMMENT ON COLUMN research.measurement.raw_reading IS 'Raw bytes from the device';

INSERT INTO research.person
SELECT g,
       md5('person' || g)::uuid,
       (ARRAY['female', 'male', 'unknown'])[1 + g % 3]::research.sex,
       DATE '1940-01-01' + (g * 97) % 25000,
       CASE WHEN g % 17 = 0 THEN NULL ELSE 150 + (g * 7) % 450 / 10.0 END,
       CASE WHEN g % 19 = 0 THEN NULL ELSE 45 + (g * 13) % 700 / 10.0 END,
       g % 5 <> 0,
       CASE g % 6
         WHEN 0 THEN NULL
         WHEN 1 THEN ''
         WHEN 2 THEN 'Said "fine", then left early'
         WHEN 3 THEN E'Two lines:\nsecond line'
         WHEN 4 THEN 'Zoë, São Paulo — 東京 🚀'
         ELSE 'routine'
       END,
       TIMESTAMPTZ '2020-01-01 09:00:00+00' + g * INTERVAL '1 day 3 hours 17 minutes 0.123456 seconds'
FROM generate_series(1, 200) AS g;

INSERT INTO research.visit
SELECT g,
       1 + g % 200,
       TIMESTAMP '2021-03-01 08:30:00' + g * INTERVAL '11 hours 7 minutes',
       TIME '08:00:00' + (g % 480) * INTERVAL '1 minute',
       CASE WHEN g % 23 = 0 THEN NULL ELSE (15 + g % 90) * INTERVAL '1 minute' END,
       (ARRAY['Lancaster', 'Preston', 'Blackpool', 'Manchester'])[1 + g % 4],
       CASE WHEN g % 7 = 0 THEN NULL ELSE jsonb_build_object('fasting', g % 2 = 0, 'room', g % 12, 'note', 'ok') END,
       CASE WHEN g % 9 = 0 THEN NULL ELSE ARRAY['routine', 'wave-' || (1 + g % 3)] END
FROM generate_series(1, 600) AS g;

INSERT INTO research.measurement
SELECT g,
       1 + g % 600,
       (ARRAY['BP-SYS', 'BP-DIA', 'HBA1C', 'LDL'])[1 + g % 4],
       CASE WHEN g % 29 = 0 THEN NULL ELSE round((g * 3.14159)::numeric % 200, 4) END,
       (1 + g % 3)::smallint,
       CASE WHEN g % 11 = 0 THEN NULL ELSE 100000 + g END,
       (g % 1000) / 1000.0,
       TIMESTAMPTZ '2021-03-01 08:45:00+00' + g * INTERVAL '3 hours 21 minutes',
       CASE WHEN g % 13 = 0 THEN NULL ELSE decode(md5('reading' || g), 'hex') END
FROM generate_series(1, 100000) AS g;

-- Statistics, so a package can say how many rows each table holds before it reads them.
ANALYZE;
