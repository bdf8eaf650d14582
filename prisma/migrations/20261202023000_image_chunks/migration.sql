-- CreateTable: an image's bytes in pieces of at most 1 MiB (ImageChunk), so
-- that no single statement moves a whole large image.
CREATE TABLE "image_chunks" (
    "imageSha256" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "image_chunks_pkey" PRIMARY KEY ("imageSha256","position")
);

-- The stored images, cut into pieces.
INSERT INTO "image_chunks" ("imageSha256", "position", "data")
SELECT "sha256", piece, substring("bytes" FROM piece * 1048576 + 1 FOR 1048576)
FROM "images", generate_series(0, GREATEST(ceil(length("bytes") / 1048576.0)::int - 1, 0)) AS piece;

-- AlterTable
ALTER TABLE "images" DROP COLUMN "bytes";

-- AddForeignKey
ALTER TABLE "image_chunks" ADD CONSTRAINT "image_chunks_imageSha256_fkey" FOREIGN KEY ("imageSha256") REFERENCES "images"("sha256") ON DELETE CASCADE ON UPDATE CASCADE;
