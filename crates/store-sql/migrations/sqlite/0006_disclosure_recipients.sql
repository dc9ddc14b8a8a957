-- Disclosures name their recipient, the registered vendor if any, and what they count as
-- (export, business-purpose, share, sale). Rows written before this migration kept the
-- recipient inside `purpose` ("<purpose>; recipient: <name>"): they get recipient '' and kind
-- 'export', and keep their text as it was.
ALTER TABLE disclosures ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE disclosures ADD COLUMN vendor TEXT;
ALTER TABLE disclosures ADD COLUMN kind TEXT NOT NULL DEFAULT 'export';
CREATE INDEX disclosures_by_vendor ON disclosures (vendor);
