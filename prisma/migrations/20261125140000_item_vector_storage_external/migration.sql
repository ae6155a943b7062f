-- Vectors are float arrays that do not compress: store them out of line without trying to.
ALTER TABLE "item" ALTER COLUMN "vector" SET STORAGE EXTERNAL;
