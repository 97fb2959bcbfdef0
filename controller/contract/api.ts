/** The file that marks a config repo and holds its Repository document. */
export const REPOSITORY_FILE = "scadalink.yaml";
/** The only document format version. */
export const API_VERSION = "scadalink/v1" as const;
