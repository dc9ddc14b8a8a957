-- Blobs of shredded subjects, waiting to be deleted. They are undecryptable from the moment
-- the shred commits (their data key is gone); deleting them is garbage collection, kept out
-- of the shred so shredding costs the same however much the subject's blobs weigh.
CREATE TABLE purge_queue (
    object TEXT PRIMARY KEY
);
