-- AlterTable
ALTER TABLE "DeviceAuthorization" ADD COLUMN "pollNonce" TEXT;

