#!/usr/bin/env node
// codepair — administration command line. `codepair help` lists the commands.
import { main } from './commands.js'

await main(process.argv.slice(2))
