import { createTRPCRouter } from "../../trpc";
import { providersAddKey } from "./add-key";
import { providersCreate } from "./create";
import { providersDeleteKey } from "./delete-key";
import { providersList } from "./list";
import { providersRotateKey } from "./rotate-key";
import { providersSetKeyEnabled } from "./set-key-enabled";
import { providersTestConnection } from "./test-connection";

export const providersRouter = createTRPCRouter({
  list: providersList,
  create: providersCreate,
  addKey: providersAddKey,
  rotateKey: providersRotateKey,
  setKeyEnabled: providersSetKeyEnabled,
  deleteKey: providersDeleteKey,
  testConnection: providersTestConnection,
});
