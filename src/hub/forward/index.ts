// TCP forwards (`uplink forward`), hub side: the public surface of this folder.
export { ForwardRoute, isForwardRequest, type ForwardRouteOptions } from './forward-route.ts';
