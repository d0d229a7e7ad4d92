// The hosts SNS signing certificates may come from (AWS's own validators use the same rule): both the
// config default and the certificate source read it from here.
export const DEFAULT_SNS_HOST_PATTERN = '^sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?$';
