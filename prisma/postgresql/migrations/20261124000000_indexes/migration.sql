-- DropIndex
DROP INDEX "DeviceAuthorization_expiresAt_idx";

-- CreateIndex
CREATE INDEX "RefreshToken_userId_idx" ON "RefreshToken"("userId");

-- CreateIndex
CREATE INDEX "RefreshToken_idleExpiresAt_idx" ON "RefreshToken"("idleExpiresAt");

