-- Dashboards count studying students and active staff per school on every view.
CREATE INDEX students_status ON students(school_id, status);
CREATE INDEX staff_status ON staff(school_id, status);
CREATE INDEX classes_year ON classes(school_id, year_id);
