import type { Config } from '../config/config.ts'
import type { Flow } from '../flows/flow.ts'

export interface SecurityMeasure {
  title: string
  detail: string
}

/**
 * The security measures of the running configuration, as the register states them: storage backend, where the
 * keys come from, NIR encryption, blind indexes, pseudonyms, the audit chain, the transport of each flow.
 * Reads only the configuration and the declarations (never a key or a password, which are not printed).
 */
export function securityMeasures(
  config: Pick<Config, 'databaseUrl' | 'keys'>,
  flows: Iterable<Flow>,
  minimisation: { stored: number; catalogue: number },
): SecurityMeasure[] {
  const keySource = (present: string | undefined, variable: string) =>
    present
      ? `clé ${variable} fournie par l'environnement (coffre de secrets de l'exploitant)`
      : `clé ${variable} absente de l'environnement : générée localement dans le répertoire de données (keys.json, mode 600), acceptable seulement pour la base embarquée ; à fournir par l'environnement en production`
  const measures: SecurityMeasure[] = [
    {
      title: 'Stockage',
      detail: config.databaseUrl
        ? 'Serveur PostgreSQL désigné par DATABASE_URL (identifiants hors du registre), migrations numérotées appliquées sous verrou.'
        : 'Base PostgreSQL embarquée (PGlite) dans le répertoire de données PASSERELLE_DATA_DIR : configuration par défaut, pour une petite installation ou une démonstration.',
    },
    {
      title: 'Chiffrement du NIR',
      detail: `Le NIR est stocké chiffré en AES-256-GCM (vecteur d'initialisation aléatoire de 96 bits, étiquette d'authentification de 128 bits, octet de version pour la rotation des clés) ; ${keySource(config.keys.nir, 'PASSERELLE_NIR_KEY')}.`,
    },
    {
      title: 'Index aveugle à clé',
      detail: `Les personnes sont rapprochées entre flux par un HMAC-SHA256 des 13 premiers caractères du NIR et de la date de naissance, et recherchées par un HMAC-SHA256 du NIR seul : aucun NIR n'est recherché ni comparé en clair ; ${keySource(config.keys.index, 'PASSERELLE_INDEX_KEY')}.`,
    },
    {
      title: 'Pseudonymes à clé',
      detail: `Les personnes concernées sont désignées dans le journal d'audit, et dans les extraits statistiques, par des pseudonymes HMAC-SHA256 à clé, propres à chaque usage (et à chaque destinataire pour les extraits) ; ${keySource(config.keys.pseudonym, 'PASSERELLE_PSEUDONYM_KEY')}.`,
    },
    {
      title: "Journal d'audit chaîné",
      detail:
        "Chaque accès à des données personnelles, et chaque refus, ajoute un événement (date, acteur, organisme, finalité, action, personne sous pseudonyme, résultat) dont l'empreinte HMAC-SHA256, calculée avec une clé absente de la base, couvre l'événement précédent (les événements antérieurs à cette clé gardent leur empreinte SHA-256 sans clé) : une modification, une suppression ou un réordonnancement rompt la chaîne. Toutes les cinq minutes, à l'arrêt du service et après chaque commande qui écrit dans le journal, un point de contrôle (numéro et empreinte du dernier événement, nombre d'événements, date) est signé avec une clé Ed25519 absente de la base et ajouté à un fichier hors de la base (et à sa copie miroir) : `passerelle audit verify` compare la chaîne à ces points de contrôle et nomme ce qui diffère, même si un administrateur de la base a réécrit l'historique. Les textes libres saisis par un opérateur (motif d'une prolongation, d'une conservation pour contentieux, d'une consultation de l'archive) sont gardés hors de la chaîne, qui n'en retient qu'une empreinte à clé, pour pouvoir être effacés avec la personne ; un texte qui contient un numéro ayant la forme d'un NIR est refusé.",
    },
    {
      title: 'Minimisation à la réception',
      detail: `Seuls les champs qu'une finalité déclare, et les clés de rapprochement, de provenance et de conservation, sont écrits en base : ${minimisation.stored} des ${minimisation.catalogue} champs du catalogue. Les autres éléments des flux (ressources détaillées, coordonnées bancaires, etc.) ne sont jamais stockés.`,
    },
    {
      title: 'Projection unique',
      detail:
        "Toute sortie de données personnelles (API, extraits, exports pour les personnes concernées) passe par la même liste blanche par finalité : ce qu'une finalité ne déclare pas ne sort pas.",
    },
  ]
  for (const flow of [...flows].sort((a, b) => a.id.localeCompare(b.id))) {
    const s = flow.source
    if (!s) {
      measures.push({ title: `Transport du flux ${flow.id}`, detail: 'Fichiers déposés localement par l’exploitant (pas de source SFTP déclarée).' })
      continue
    }
    const auth = s.private_key_env ? `authentification par clé privée (${s.private_key_env})` : `authentification par mot de passe (${s.password_env})`
    const hostKey = s.host_key_env
      ? `empreinte de la clé d'hôte du serveur vérifiée (${s.host_key_env})`
      : "empreinte de la clé d'hôte non déclarée : non vérifiée (à corriger)"
    measures.push({
      title: `Transport du flux ${flow.id}`,
      detail: `SFTP (SSH), ${auth}, ${hostKey} ; fichier traité en une seule transaction, rejeté entier s'il n'est pas fiable, copie de travail supprimée après traitement.`,
    })
  }
  return measures
}
