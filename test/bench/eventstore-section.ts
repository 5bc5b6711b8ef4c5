import { benchSection, type Section } from './eventstore.js';

/** Runs one section of the event store benchmark and prints its figures and raw numbers as JSON. */
const section = process.argv[2] as Section;
process.stdout.write(JSON.stringify(await benchSection(section, { log: process.argv[3]!, sqlite: process.argv[4]! })));
