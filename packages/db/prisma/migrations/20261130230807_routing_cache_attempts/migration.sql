-- AlterTable
ALTER TABLE "routes" ADD COLUMN     "options" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "attemptLog" JSONB;
