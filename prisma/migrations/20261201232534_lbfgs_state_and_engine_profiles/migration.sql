-- AlterTable: a checkpoint names its optimiser and holds its state as one run
-- of float32 arrays. Adam's moments move there (m, then v), so that runs
-- checkpointed before this migration resume where they stopped.
ALTER TABLE "run_checkpoints" ADD COLUMN     "optimizer" TEXT NOT NULL DEFAULT 'adam',
ADD COLUMN     "state" BYTEA;

UPDATE "run_checkpoints" SET "state" = "adamM" || "adamV";

ALTER TABLE "run_checkpoints" ALTER COLUMN "optimizer" DROP DEFAULT,
ALTER COLUMN "state" SET NOT NULL,
DROP COLUMN "adamM",
DROP COLUMN "adamV";

-- CreateTable
CREATE TABLE "run_lbfgs_pairs" (
    "runId" UUID NOT NULL,
    "step" INTEGER NOT NULL,
    "s" BYTEA NOT NULL,
    "y" BYTEA NOT NULL,

    CONSTRAINT "run_lbfgs_pairs_pkey" PRIMARY KEY ("runId","step")
);

-- CreateTable
CREATE TABLE "engine_profiles" (
    "host" TEXT NOT NULL,
    "device" TEXT NOT NULL,
    "backend" TEXT NOT NULL,
    "threads" INTEGER,
    "speed" JSONB NOT NULL,
    "correction" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "runs" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "engine_profiles_pkey" PRIMARY KEY ("host","device")
);

-- CreateIndex
CREATE INDEX "engine_profiles_updatedAt_idx" ON "engine_profiles"("updatedAt");

-- AddForeignKey
ALTER TABLE "run_lbfgs_pairs" ADD CONSTRAINT "run_lbfgs_pairs_runId_fkey" FOREIGN KEY ("runId") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
