// /api/v1/users/:user/tokens and /api/v1/tokens/:id: issue, list and revoke
// a user's API tokens (fleet-wide admin only). A token's secret is returned
// once, when issued; listings never carry it or its hash.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Logger } from '../../util/logger.ts';
import { requireFleetAdmin } from '../auth.ts';
import { notFound } from '../errors.ts';
import type { LiveStreams } from '../live-streams.ts';
import type { ApiTokenRecord, Store } from '../store/index.ts';
import { issueApiToken } from '../users.ts';
import { findUser, UserParams } from './lookup.ts';

/** Token names are labels for people: letters, digits, `-`, `_` and `.`. */
const TOKEN_NAME_PATTERN = '^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

/** An API token as listings show it. */
export interface ApiTokenView {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const CreateTokenBody = Type.Object({
  name: Type.Optional(Type.String({ pattern: TOKEN_NAME_PATTERN, maxLength: 63 })),
}, { additionalProperties: false });

const TokenParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) });

function tokenView(record: ApiTokenRecord): ApiTokenView {
  return { id: record.id, userId: record.userId, name: record.name, createdAt: record.createdAt, lastUsedAt: record.lastUsedAt };
}

export function registerTokenRoutes(app: FastifyInstance, options: { store: Store; log: Logger; liveStreams: Pick<LiveStreams, 'revokeToken'>; onAccessChange?: (userId: string) => void }): void {
  const { store } = options;

  app.post('/api/v1/users/:user/tokens', { schema: { params: UserParams, body: CreateTokenBody } }, async (req, reply) => {
    requireFleetAdmin(req);
    const user = await findUser(store, (req.params as Type.Static<typeof UserParams>).user);
    // The body is optional altogether: `POST` with no body names the token after its user.
    const name = (req.body as Type.Static<typeof CreateTokenBody> | undefined)?.name ?? user.name;
    const issued = await issueApiToken(store, { userId: user.id, name });
    options.log.info({ tokenId: issued.id, userId: user.id, user: user.name, by: req.principal?.userName }, 'API token issued');
    return reply.status(201).send(issued);
  });

  app.get('/api/v1/users/:user/tokens', { schema: { params: UserParams } }, async (req): Promise<{ items: ApiTokenView[] }> => {
    requireFleetAdmin(req);
    const user = await findUser(store, (req.params as Type.Static<typeof UserParams>).user);
    return { items: (await store.listApiTokens(user.id)).map(tokenView) };
  });

  app.delete('/api/v1/tokens/:id', { schema: { params: TokenParams } }, async (req, reply) => {
    requireFleetAdmin(req);
    const { id } = req.params as Type.Static<typeof TokenParams>;
    const record = await store.getApiToken(id);
    if (!record || !(await store.deleteApiToken(id))) throw notFound(`API token '${id}'`);
    options.onAccessChange?.(record.userId);
    const streams = options.liveStreams.revokeToken(id);
    options.log.info({ tokenId: id, userId: record.userId, by: req.principal?.userName, streams }, 'API token revoked');
    return reply.status(204).send();
  });
}
