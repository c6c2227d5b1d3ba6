-- AlterTable
ALTER TABLE "routes" ADD COLUMN     "strict" BOOLEAN NOT NULL DEFAULT false;
