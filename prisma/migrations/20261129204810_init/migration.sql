-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateTable
CREATE TABLE "images" (
    "sha256" TEXT NOT NULL,
    "mimeType" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "byteSize" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "images_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "ownerId" TEXT,
    "idempotencyKey" TEXT,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "jobId" UUID NOT NULL,
    "params" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "contentSha256" TEXT NOT NULL,
    "backend" TEXT,
    "device" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "error" TEXT,
    "currentEpoch" INTEGER NOT NULL DEFAULT 0,
    "resultSha256" TEXT,
    "eventSeq" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_styles" (
    "runId" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "imageSha256" TEXT NOT NULL,

    CONSTRAINT "run_styles_pkey" PRIMARY KEY ("runId","position")
);

-- CreateTable
CREATE TABLE "run_epochs" (
    "runId" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "totalLoss" DOUBLE PRECISION NOT NULL,
    "contentLoss" DOUBLE PRECISION NOT NULL,
    "styleLoss" DOUBLE PRECISION NOT NULL,
    "totalVariationLoss" DOUBLE PRECISION NOT NULL,
    "layerLosses" JSONB NOT NULL,
    "elapsedMs" INTEGER NOT NULL,
    "previewSha256" TEXT NOT NULL,
    "eventSeq" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_epochs_pkey" PRIMARY KEY ("runId","epoch")
);

-- CreateTable
CREATE TABLE "run_checkpoints" (
    "runId" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "scale" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "image" BYTEA NOT NULL,
    "adamM" BYTEA NOT NULL,
    "adamV" BYTEA NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_checkpoints_pkey" PRIMARY KEY ("runId")
);

-- CreateIndex
CREATE UNIQUE INDEX "runs_idempotencyKey_key" ON "runs"("idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "runs_jobId_key" ON "runs"("jobId");

-- CreateIndex
CREATE INDEX "runs_createdAt_id_idx" ON "runs"("createdAt", "id");

-- CreateIndex
CREATE INDEX "runs_status_createdAt_idx" ON "runs"("status", "createdAt");

-- CreateIndex
CREATE INDEX "runs_ownerId_createdAt_idx" ON "runs"("ownerId", "createdAt");

-- CreateIndex
CREATE INDEX "run_styles_imageSha256_idx" ON "run_styles"("imageSha256");

-- CreateIndex
CREATE INDEX "run_epochs_previewSha256_idx" ON "run_epochs"("previewSha256");

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_contentSha256_fkey" FOREIGN KEY ("contentSha256") REFERENCES "images"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_resultSha256_fkey" FOREIGN KEY ("resultSha256") REFERENCES "images"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_styles" ADD CONSTRAINT "run_styles_runId_fkey" FOREIGN KEY ("runId") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_styles" ADD CONSTRAINT "run_styles_imageSha256_fkey" FOREIGN KEY ("imageSha256") REFERENCES "images"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_epochs" ADD CONSTRAINT "run_epochs_previewSha256_fkey" FOREIGN KEY ("previewSha256") REFERENCES "images"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_epochs" ADD CONSTRAINT "run_epochs_runId_fkey" FOREIGN KEY ("runId") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_checkpoints" ADD CONSTRAINT "run_checkpoints_runId_fkey" FOREIGN KEY ("runId") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
