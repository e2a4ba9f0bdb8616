-- Masking rules (PIPL): what analysts see instead of personal data. Run before every model.
CREATE OR REPLACE MACRO mask_mobile(m) AS
    CASE WHEN m IS NULL THEN NULL WHEN length(m) = 11 THEN substr(m, 1, 3) || '****' || substr(m, 8, 4) ELSE '***' END;
CREATE OR REPLACE MACRO mask_id(id) AS
    CASE WHEN id IS NULL THEN NULL WHEN length(id) = 18 THEN substr(id, 1, 4) || repeat('*', 10) || substr(id, 15, 4) ELSE '***' END;
-- Persons keep the surname: 张伟 → 张*, 欧阳娜娜 → 欧***. Company names are not personal data.
CREATE OR REPLACE MACRO mask_name(name, kind) AS
    CASE WHEN name IS NULL THEN NULL WHEN kind = 'company' THEN name
         ELSE substr(name, 1, 1) || repeat('*', greatest(length(name) - 1, 1)) END;
CREATE OR REPLACE MACRO mask_plate(p) AS
    CASE WHEN p IS NULL THEN NULL ELSE substr(p, 1, 2) || repeat('*', greatest(length(p) - 4, 1)) || substr(p, -2, 2) END;
