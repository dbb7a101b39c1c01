"""The operators' console (`/`) and the self-hosted GraphiQL page (`/graphql`, for browsers).

Both are static files in `static/` (their libraries in `static/vendor/`, refreshed from the npm
registry by scripts/refresh-console-assets.sh), served by the app itself so that nothing is
fetched from outside the server's origin. The pages talk to the public GraphQL API only.
"""

from api.console.routes import CONSOLE_CSP, console_routes, graphiql_page

__all__ = ["CONSOLE_CSP", "console_routes", "graphiql_page"]
