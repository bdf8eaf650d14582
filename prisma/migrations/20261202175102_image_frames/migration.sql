-- AlterTable
ALTER TABLE "images" ADD COLUMN     "durationMs" INTEGER,
ADD COLUMN     "frames" INTEGER NOT NULL DEFAULT 1;
