import { ErrorSchema } from '../schemas.ts'

const DESCRIPTIONS: Record<number, string> = {
  400: 'Paramètre ou corps invalide (le message nomme le paramètre et la règle, jamais la valeur).',
  401: 'Jeton absent, mal formé, inconnu, expiré ou révoqué.',
  404: 'Ressource inexistante, ou que l’appelant ne peut pas voir (jamais 403 : les identifiants ne peuvent pas être sondés).',
  409: 'Conflit avec l’état de la ressource.',
  413: 'Corps de requête trop volumineux.',
  429: 'Débit dépassé : réessayer après le nombre de secondes de l’en-tête Retry-After.',
  503: 'L’accès n’a pas pu être inscrit au journal d’audit : rien n’a été servi.',
}

/** The error responses a route may give, in the one error shape. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 401, 429, 503])].map((s) => [
      s,
      {
        description: DESCRIPTIONS[s] ?? 'Erreur',
        ...(s === 429 ? { headers: { 'Retry-After': { description: 'Nombre de secondes à attendre avant de réessayer.', schema: { type: 'integer', minimum: 1 } } } } : {}),
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  )
}

export const json = <T>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } })
