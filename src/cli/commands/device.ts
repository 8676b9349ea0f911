// codepair device: a TV on the command line, built on codepair/device.
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { DEVICE_EXIT, runDeviceSimulator } from '../device-simulator.js'
import { run } from '../program.js'

export function register (program: Command): void {
  program.command('device')
    .description('simulate a device: show the code and a QR code, poll, then call /api/me; exit 0 approved, 10 denied, 11 expired, 1 error. A confidential client\'s secret comes from CODEPAIR_CLIENT_SECRET')
    .requiredOption('--client <CLIENT_ID>', 'the client the device is')
    .option('--scope <SCOPES>', 'scopes to ask for', 'openid profile')
    .option('--resource <URI>', 'the API the token is for (RFC 8707)')
    .option('--issuer <URL>', 'the codepair server (default ISSUER, else http://localhost:$PORT)')
    .option('--token-file <PATH>', 'keep the tokens in this file (owner-only)')
    .action(run(async ({ opts }) => {
      if (process.env.ISSUER === undefined && existsSync('.env')) process.loadEnvFile('.env')
      const issuer = String(opts.issuer ?? process.env.ISSUER ?? `http://localhost:${process.env.PORT ?? 3000}`).replace(/\/+$/, '')
      try {
        return await runDeviceSimulator({
          issuer,
          clientId: opts.client,
          clientSecret: process.env.CODEPAIR_CLIENT_SECRET,
          scope: opts.scope,
          resource: opts.resource,
          tokenFile: opts.tokenFile
        }) as 0 | 10 | 11
      } catch (err) {
        process.stderr.write(`codepair device: ${(err as Error).message}\n`)
        return DEVICE_EXIT.error
      }
    }))
}
