// The console's only way to the server: the public GraphQL API at /graphql (HTTP for queries and
// mutations, graphql-ws for subscriptions), signed in with the token `login` gave, kept in this
// tab's sessionStorage (GraphiQL on the same tab reads it too).
const TOKEN = "luling.token";
const ACCOUNT = "luling.account";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN);
  },
  get account() {
    const raw = sessionStorage.getItem(ACCOUNT);
    return raw ? JSON.parse(raw) : null;
  },
  signIn(token, account) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(ACCOUNT, JSON.stringify(account));
  },
  signOut() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(ACCOUNT);
    closeSocket();
    window.dispatchEvent(new Event("luling:signed-out"));
  },
};

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Runs a query or mutation; resolves to `data`, rejects with an ApiError on any error. */
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new ApiError("服务器没有返回有效的应答（HTTP " + response.status + "）", "INTERNAL");
  }
  if (response.status === 401) {
    session.signOut();
    throw new ApiError("登录已失效，请重新登录", "UNAUTHENTICATED");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, (first.extensions || {}).code);
  }
  return body.data;
}

/** Runs a mutation whose payload (at `field`) carries userErrors; rejects when it has any. */
export async function mutate(query, variables, field) {
  const data = await gql(query, variables);
  const payload = data[field];
  if (payload.userErrors && payload.userErrors.length) {
    throw new ApiError(payload.userErrors.map((e) => e.message).join("；"), payload.userErrors[0].code);
  }
  return payload;
}

let socket = null;
let connected = false;
const socketListeners = new Set();

/** Calls `listener(connected)` now and whenever the socket connects or closes; returns the
 * function that stops listening. */
export function onSocket(listener) {
  socketListeners.add(listener);
  listener(connected);
  return () => socketListeners.delete(listener);
}

function socketState(value) {
  connected = value;
  socketListeners.forEach((f) => f(value));
}

function client() {
  if (!socket) {
    const url = location.origin.replace(/^http/, "ws") + "/graphql";
    socket = window.graphqlWs.createClient({
      url,
      lazy: true,
      retryAttempts: 5,
      connectionParams: () => (session.token ? { authorization: "Bearer " + session.token } : {}),
      on: { connected: () => socketState(true), closed: () => socketState(false) },
    });
  }
  return socket;
}

function closeSocket() {
  if (socket) {
    socket.dispose();
    socket = null;
  }
}

/** Subscribes; calls onData(data) for every event and onError(error) on failure. Returns the
 * function that ends the subscription. */
export function subscribe(query, variables, onData, onError = () => {}) {
  return client().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors && result.errors.length) onError(new ApiError(result.errors[0].message));
        else onData(result.data);
      },
      error: (e) => onError(e instanceof Error ? e : new ApiError("实时连接中断")),
      complete: () => {},
    },
  );
}
