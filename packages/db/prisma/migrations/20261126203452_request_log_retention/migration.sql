-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "requestLogRetentionDays" INTEGER;
