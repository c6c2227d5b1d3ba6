-- AlterTable
ALTER TABLE "teams" ADD COLUMN     "bodyLogging" TEXT NOT NULL DEFAULT 'off';

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "requestedCostNanoUsd" BIGINT;

-- AlterTable
ALTER TABLE "usage_rollups" ADD COLUMN     "cacheSavedNanoUsd" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "estimatedRequests" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "latencyHist" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
ADD COLUMN     "requestedCostNanoUsd" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "ttftCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "ttftHist" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
ADD COLUMN     "ttftMsSum" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "attribution_rollups" (
    "id" BIGSERIAL NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "orgId" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "dimension" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "unpricedRequests" INTEGER NOT NULL DEFAULT 0,
    "inputTokens" BIGINT NOT NULL DEFAULT 0,
    "outputTokens" BIGINT NOT NULL DEFAULT 0,
    "costNanoUsd" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "attribution_rollups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "price_overrides" (
    "id" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "upstreamModel" TEXT NOT NULL,
    "pricing" JSONB NOT NULL,
    "note" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "price_overrides_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "request_bodies" (
    "requestId" TEXT NOT NULL,
    "orgId" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "request" TEXT NOT NULL,
    "response" TEXT NOT NULL,
    "redacted" BOOLEAN NOT NULL,
    "truncated" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "request_bodies_pkey" PRIMARY KEY ("requestId")
);

-- CreateIndex
CREATE INDEX "attribution_rollups_orgId_dimension_bucket_idx" ON "attribution_rollups"("orgId", "dimension", "bucket");

-- CreateIndex
CREATE UNIQUE INDEX "attribution_rollups_dims_key" ON "attribution_rollups"("bucket", "orgId", "teamId", "dimension", "value");

-- CreateIndex
CREATE UNIQUE INDEX "price_overrides_orgId_upstreamModel_key" ON "price_overrides"("orgId", "upstreamModel");

-- CreateIndex
CREATE INDEX "request_bodies_orgId_createdAt_idx" ON "request_bodies"("orgId", "createdAt");

-- AddForeignKey
ALTER TABLE "price_overrides" ADD CONSTRAINT "price_overrides_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
