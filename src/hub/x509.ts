// @peculiar/x509, ready to use. It builds on tsyringe, which needs the
// Reflect metadata API at import time; ES modules evaluate their imports in
// order, so reflect-metadata is loaded first here and nowhere else.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
