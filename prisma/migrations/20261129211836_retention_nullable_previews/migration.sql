-- AlterTable
ALTER TABLE "run_epochs" ALTER COLUMN "previewSha256" DROP NOT NULL;
