// Every command group of `codepair`, in the order `codepair --help` lists them.
// A new group: a file beside this one exporting register(program), listed here.
import type { Command } from 'commander'
import { register as backup } from './backup.js'
import { register as clients } from './clients.js'
import { register as database } from './database.js'
import { register as device } from './device.js'
import { register as keys } from './keys.js'
import { register as resources } from './resources.js'
import { register as users } from './users.js'
import { register as webhooks } from './webhooks.js'

export const GROUPS: Array<(program: Command) => void> = [database, backup, clients, users, resources, keys, webhooks, device]
