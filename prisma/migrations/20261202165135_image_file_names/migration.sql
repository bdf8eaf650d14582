-- AlterTable
ALTER TABLE "image_owners" ADD COLUMN     "fileName" TEXT;

-- AlterTable
ALTER TABLE "images" ADD COLUMN     "fileName" TEXT;
