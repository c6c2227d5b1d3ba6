-- AlterTable
ALTER TABLE "virtual_keys" ADD COLUMN     "previousKeyExpiresAt" TIMESTAMPTZ(3),
ADD COLUMN     "previousKeyHash" TEXT,
ADD COLUMN     "rotatedAt" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "virtual_keys_previousKeyHash_key" ON "virtual_keys"("previousKeyHash");
