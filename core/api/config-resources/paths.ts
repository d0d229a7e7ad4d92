// The paths the config resources answer; handler.ts's isApiPath sends them to the API (so an unknown
// /edges/… or /backends/… gets the API's JSON 404). Its own module so the handler need not import the
// resources.
export const CONFIG_RESOURCE_PATH = /^\/(edges|backends|reserved_domains|tls_certificates|certificate_authorities|ip_policies|ip_policy_rules)(\/|$)/;
