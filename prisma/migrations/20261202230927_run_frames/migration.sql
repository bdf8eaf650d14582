-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "currentFrame" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "flicker" DOUBLE PRECISION,
ADD COLUMN     "totalFrames" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "run_frames" (
    "runId" UUID NOT NULL,
    "frame" INTEGER NOT NULL,
    "totalLoss" DOUBLE PRECISION NOT NULL,
    "contentLoss" DOUBLE PRECISION NOT NULL,
    "styleLoss" DOUBLE PRECISION NOT NULL,
    "totalVariationLoss" DOUBLE PRECISION NOT NULL,
    "elapsedMs" INTEGER NOT NULL,
    "delayMs" INTEGER NOT NULL,
    "imageSha256" TEXT NOT NULL,
    "eventSeq" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_frames_pkey" PRIMARY KEY ("runId","frame")
);

-- CreateIndex
CREATE INDEX "run_frames_imageSha256_idx" ON "run_frames"("imageSha256");

-- AddForeignKey
ALTER TABLE "run_frames" ADD CONSTRAINT "run_frames_imageSha256_fkey" FOREIGN KEY ("imageSha256") REFERENCES "images"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_frames" ADD CONSTRAINT "run_frames_runId_fkey" FOREIGN KEY ("runId") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
