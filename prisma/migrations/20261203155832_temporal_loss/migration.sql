-- Epochs and frames stored before this column counted the temporal term inside totalLoss only: they read 0 here.
-- AlterTable
ALTER TABLE "run_epochs" ADD COLUMN     "temporalLoss" DOUBLE PRECISION NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "run_frames" ADD COLUMN     "temporalLoss" DOUBLE PRECISION NOT NULL DEFAULT 0;
