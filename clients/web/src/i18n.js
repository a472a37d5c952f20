// The page's words in English, German and French, picked by `navigator.languages` (the first of
// them the app speaks, else English). Where the pushes already say something (their titles come
// from the server's renderer in the same three languages) the page uses the same words:
// "Genehmigen"/"Approuver", "Fällig"/"Échéance". Text goes into the DOM as text, never as HTML.

const WORDS = {
  en: {
    sending: 'Sending…', sayWhatYouNeed: 'Please say what you need.', commentLabel: 'Comment for the workflow',
    result: { applied: 'Sent to Content Server.', queued: 'Saved; Content Server is busy, it will be applied shortly.', 403: 'This answer is not available to you.', 409: 'This notification was already answered or the task is closed.', 410: 'This notification has expired.', 0: 'Could not reach the server. Check your connection and try again.', down: 'The server is not answering right now. Please try again in a moment.' },
    signInLocal: 'Sign in (local shortcut)', signInOtds: 'Sign in with OTDS', markRead: 'Mark read', markAllRead: 'Mark all read',
    historyPush: 'Notification sent', historyReply: '{who} answered: {action}',
    registered: 'Notifications for you arrive here.', signingIn: 'Signing in as {user}…', signedOut: 'Signed out.',
    category: { approval: 'Approvals', review: 'Reviews', task: 'Tasks', expiry: 'Expiring documents', sla: 'Reminders and escalations', field: 'Field documents', publication: 'Publications', governance: 'Governance alerts', confirmation: 'Confirmations of my answers' },
    signedInAs: 'Signed in as', signOut: 'Sign out', signIn: 'Sign in', ecmUser: 'Content Server user name',
    waiting: 'Waiting for me', refresh: 'Refresh', nothingWaiting: 'Nothing is waiting for you.',
    loading: 'Loading…', overdue: 'Overdue', due: 'Due {when}', noDue: 'No due date',
    priority: { low: 'Low priority', normal: 'Normal priority', high: 'High priority' },
    from: 'From {who}', back: 'Back to the list', instructions: 'Instructions', document: 'Document',
    openDocument: 'Open the document', history: 'What happened so far', reply: 'Your answer',
    replyElsewhere: 'Answer this step from its notification on this device, or in Content Server.',
    answered: 'You answered: {action}', expired: 'The buttons of this step have expired: answer it in Content Server.',
    notifications: 'Notifications', nothingYet: 'Nothing yet.', preferences: 'Preferences',
    mute: 'Mute', quietHours: 'Quiet hours', quietFrom: 'Quiet from', quietTo: 'Quiet until',
    timeZone: 'Time zone', save: 'Save preferences', saved: 'Preferences saved.',
    pushesOn: 'Notifications are on for this browser.', pushesOff: 'Notifications are off for this browser.',
    askPermission: 'Turn on notifications',
    permissionReason: 'So that approvals and field documents reach you even when this page is closed.',
    iosHint: 'On iPhone, notifications work only after you add this app to your Home Screen: tap Share, then “Add to Home Screen”, and open it from there.',
    documentRefused: 'Content Server does not let you open this document.',
    documentMissing: 'This document no longer exists in Content Server.',
    documentTooLarge: 'This document is too large to show here: open it in Content Server.',
    documentOther: 'This kind of document cannot be shown here: open it in Content Server.',
    documentOffline: 'You are offline: this is the copy kept on this device.',
    stepMissing: 'This step is no longer waiting for you.',
    waitingToSend: 'Waiting to send: it goes as soon as you are back online.',
    commentTooLong: 'Your comment has {count} characters; the most Content Server takes is {max}. Please shorten it.',
    youAnswered: 'You answered: {action} · {state}',
    replyState: { queued: 'on its way to Content Server', applied: 'sent to Content Server', failed: 'Content Server refused it', expired: 'too late', superseded: 'answered elsewhere' },
    noReply: 'No device received it.',
    sentAt: '{when}',
    retry: 'Try again',
    deliveredTo: '{device}: {state}', notDelivered: 'Not delivered to any of your devices yet.',
    device: { here: 'This browser', web: 'A browser', android: 'An Android phone', ios: 'An iPhone' },
    deliveryState: { opened: 'opened', dismissed: 'closed without opening', displayed: 'shown', received: 'received', sent: 'sent', sending: 'on its way', retrying: 'on its way', failed: 'could not be delivered', token_removed: 'no longer gets notifications', no_device: 'no device' },
    snooze: { prompt: 'Remind me later:', '1h': 'In 1 hour', tomorrow: 'Tomorrow morning', saving: 'Saving…', done: 'We will remind you again on {when}.', doneNoTime: 'We will remind you again later.' },
    download: 'Download', noPdfViewer: 'This browser cannot show PDFs inside the app: download the document to read it.',
    priorityLabel: 'Priority',
  },
  de: {
    sending: 'Wird gesendet…', sayWhatYouNeed: 'Bitte sagen Sie, was Sie brauchen.', commentLabel: 'Kommentar für den Workflow',
    result: { applied: 'An Content Server übermittelt.', queued: 'Gespeichert; Content Server ist ausgelastet, die Antwort folgt in Kürze.', 403: 'Diese Antwort steht Ihnen nicht zur Verfügung.', 409: 'Diese Benachrichtigung wurde bereits beantwortet oder die Aufgabe ist abgeschlossen.', 410: 'Diese Benachrichtigung ist abgelaufen.', 0: 'Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.', down: 'Der Server antwortet gerade nicht. Bitte versuchen Sie es gleich noch einmal.' },
    signInLocal: 'Anmelden (lokale Abkürzung)', signInOtds: 'Mit OTDS anmelden', markRead: 'Als gelesen markieren', markAllRead: 'Alle als gelesen markieren',
    historyPush: 'Benachrichtigung gesendet', historyReply: '{who} hat geantwortet: {action}',
    registered: 'Benachrichtigungen für Sie kommen hier an.', signingIn: 'Anmeldung als {user}…', signedOut: 'Abgemeldet.',
    category: { approval: 'Genehmigungen', review: 'Prüfungen', task: 'Aufgaben', expiry: 'Ablaufende Dokumente', sla: 'Erinnerungen und Eskalationen', field: 'Dokumente für den Außendienst', publication: 'Veröffentlichungen', governance: 'Governance-Hinweise', confirmation: 'Bestätigungen meiner Antworten' },
    signedInAs: 'Angemeldet als', signOut: 'Abmelden', signIn: 'Anmelden', ecmUser: 'Content-Server-Benutzername',
    waiting: 'Wartet auf mich', refresh: 'Aktualisieren', nothingWaiting: 'Nichts wartet auf Sie.',
    loading: 'Wird geladen…', overdue: 'Überfällig', due: 'Fällig {when}', noDue: 'Kein Fälligkeitsdatum',
    priority: { low: 'Niedrige Priorität', normal: 'Normale Priorität', high: 'Hohe Priorität' },
    from: 'Von {who}', back: 'Zurück zur Liste', instructions: 'Anweisungen', document: 'Dokument',
    openDocument: 'Dokument öffnen', history: 'Bisheriger Verlauf', reply: 'Ihre Antwort',
    replyElsewhere: 'Beantworten Sie diesen Schritt über seine Benachrichtigung auf diesem Gerät oder im Content Server.',
    answered: 'Ihre Antwort: {action}', expired: 'Die Schaltflächen dieses Schritts sind abgelaufen: beantworten Sie ihn im Content Server.',
    notifications: 'Benachrichtigungen', nothingYet: 'Noch nichts.', preferences: 'Einstellungen',
    mute: 'Stummschalten', quietHours: 'Ruhezeiten', quietFrom: 'Ruhe ab', quietTo: 'Ruhe bis',
    timeZone: 'Zeitzone', save: 'Einstellungen speichern', saved: 'Einstellungen gespeichert.',
    pushesOn: 'Benachrichtigungen sind in diesem Browser eingeschaltet.', pushesOff: 'Benachrichtigungen sind in diesem Browser ausgeschaltet.',
    askPermission: 'Benachrichtigungen einschalten',
    permissionReason: 'Damit Genehmigungen und Dokumente Sie auch erreichen, wenn diese Seite geschlossen ist.',
    iosHint: 'Auf dem iPhone funktionieren Benachrichtigungen erst, wenn Sie diese App zum Home-Bildschirm hinzufügen: Teilen, dann „Zum Home-Bildschirm“, und die App von dort öffnen.',
    documentRefused: 'Content Server erlaubt Ihnen nicht, dieses Dokument zu öffnen.',
    documentMissing: 'Dieses Dokument gibt es im Content Server nicht mehr.',
    documentTooLarge: 'Dieses Dokument ist zu groß für die Anzeige hier: öffnen Sie es im Content Server.',
    documentOther: 'Diese Art Dokument kann hier nicht angezeigt werden: öffnen Sie es im Content Server.',
    documentOffline: 'Sie sind offline: dies ist die auf diesem Gerät gespeicherte Kopie.',
    stepMissing: 'Dieser Schritt wartet nicht mehr auf Sie.',
    waitingToSend: 'Wartet auf das Senden: geht raus, sobald Sie wieder online sind.',
    commentTooLong: 'Ihr Kommentar hat {count} Zeichen; Content Server nimmt höchstens {max}. Bitte kürzen Sie ihn.',
    youAnswered: 'Ihre Antwort: {action} · {state}',
    replyState: { queued: 'unterwegs zum Content Server', applied: 'an Content Server übermittelt', failed: 'von Content Server abgelehnt', expired: 'zu spät', superseded: 'anderswo beantwortet' },
    noReply: 'Kein Gerät hat sie erhalten.',
    sentAt: '{when}',
    retry: 'Erneut versuchen',
    deliveredTo: '{device}: {state}', notDelivered: 'Noch an keines Ihrer Geräte zugestellt.',
    device: { here: 'Dieser Browser', web: 'Ein Browser', android: 'Ein Android-Telefon', ios: 'Ein iPhone' },
    deliveryState: { opened: 'geöffnet', dismissed: 'ungeöffnet geschlossen', displayed: 'angezeigt', received: 'empfangen', sent: 'gesendet', sending: 'unterwegs', retrying: 'unterwegs', failed: 'konnte nicht zugestellt werden', token_removed: 'erhält keine Benachrichtigungen mehr', no_device: 'kein Gerät' },
    snooze: { prompt: 'Später erinnern:', '1h': 'In 1 Stunde', tomorrow: 'Morgen früh', saving: 'Wird gespeichert…', done: 'Wir erinnern Sie wieder am {when}.', doneNoTime: 'Wir erinnern Sie später wieder.' },
    download: 'Herunterladen', noPdfViewer: 'Dieser Browser kann PDFs nicht in der App anzeigen: laden Sie das Dokument herunter, um es zu lesen.',
    priorityLabel: 'Priorität',
  },
  fr: {
    sending: 'Envoi…', sayWhatYouNeed: 'Veuillez préciser ce dont vous avez besoin.', commentLabel: 'Commentaire pour le workflow',
    result: { applied: 'Transmis à Content Server.', queued: 'Enregistré ; Content Server est occupé, la réponse sera appliquée sous peu.', 403: 'Cette réponse ne vous est pas ouverte.', 409: 'Cette notification a déjà reçu une réponse ou la tâche est close.', 410: 'Cette notification a expiré.', 0: 'Le serveur est injoignable. Vérifiez votre connexion et réessayez.', down: 'Le serveur ne répond pas pour l’instant. Réessayez dans un moment.' },
    signInLocal: 'Se connecter (raccourci local)', signInOtds: 'Se connecter avec OTDS', markRead: 'Marquer comme lu', markAllRead: 'Tout marquer comme lu',
    historyPush: 'Notification envoyée', historyReply: '{who} a répondu : {action}',
    registered: 'Les notifications pour vous arrivent ici.', signingIn: 'Connexion en tant que {user}…', signedOut: 'Déconnecté.',
    category: { approval: 'Approbations', review: 'Relectures', task: 'Tâches', expiry: 'Documents qui expirent', sla: 'Rappels et escalades', field: 'Documents terrain', publication: 'Publications', governance: 'Alertes de gouvernance', confirmation: 'Confirmations de mes réponses' },
    signedInAs: 'Connecté en tant que', signOut: 'Se déconnecter', signIn: 'Se connecter', ecmUser: 'Nom d’utilisateur Content Server',
    waiting: 'En attente de moi', refresh: 'Actualiser', nothingWaiting: 'Rien ne vous attend.',
    loading: 'Chargement…', overdue: 'En retard', due: 'Échéance {when}', noDue: 'Pas d’échéance',
    priority: { low: 'Priorité basse', normal: 'Priorité normale', high: 'Priorité haute' },
    from: 'De {who}', back: 'Retour à la liste', instructions: 'Instructions', document: 'Document',
    openDocument: 'Ouvrir le document', history: 'Historique', reply: 'Votre réponse',
    replyElsewhere: 'Répondez à cette étape depuis sa notification sur cet appareil, ou dans Content Server.',
    answered: 'Votre réponse : {action}', expired: 'Les boutons de cette étape ont expiré : répondez dans Content Server.',
    notifications: 'Notifications', nothingYet: 'Rien pour l’instant.', preferences: 'Préférences',
    mute: 'Mettre en sourdine', quietHours: 'Heures calmes', quietFrom: 'Calme à partir de', quietTo: 'Calme jusqu’à',
    timeZone: 'Fuseau horaire', save: 'Enregistrer les préférences', saved: 'Préférences enregistrées.',
    pushesOn: 'Les notifications sont activées pour ce navigateur.', pushesOff: 'Les notifications sont désactivées pour ce navigateur.',
    askPermission: 'Activer les notifications',
    permissionReason: 'Pour que les approbations et les documents vous parviennent même quand cette page est fermée.',
    iosHint: 'Sur iPhone, les notifications ne fonctionnent qu’après avoir ajouté cette app à l’écran d’accueil : touchez Partager, puis « Sur l’écran d’accueil », et ouvrez-la de là.',
    documentRefused: 'Content Server ne vous permet pas d’ouvrir ce document.',
    documentMissing: 'Ce document n’existe plus dans Content Server.',
    documentTooLarge: 'Ce document est trop volumineux pour être affiché ici : ouvrez-le dans Content Server.',
    documentOther: 'Ce type de document ne peut pas être affiché ici : ouvrez-le dans Content Server.',
    documentOffline: 'Vous êtes hors ligne : voici la copie gardée sur cet appareil.',
    stepMissing: 'Cette étape ne vous attend plus.',
    waitingToSend: 'En attente d’envoi : part dès que vous êtes de nouveau en ligne.',
    commentTooLong: 'Votre commentaire compte {count} caractères ; Content Server en accepte au plus {max}. Veuillez le raccourcir.',
    youAnswered: 'Votre réponse : {action} · {state}',
    replyState: { queued: 'en route vers Content Server', applied: 'transmise à Content Server', failed: 'refusée par Content Server', expired: 'trop tard', superseded: 'répondu ailleurs' },
    noReply: 'Aucun appareil ne l’a reçue.',
    sentAt: '{when}',
    retry: 'Réessayer',
    deliveredTo: '{device} : {state}', notDelivered: 'Pas encore remis à l’un de vos appareils.',
    device: { here: 'Ce navigateur', web: 'Un navigateur', android: 'Un téléphone Android', ios: 'Un iPhone' },
    deliveryState: { opened: 'ouvert', dismissed: 'fermé sans être ouvert', displayed: 'affiché', received: 'reçu', sent: 'envoyé', sending: 'en route', retrying: 'en route', failed: 'n’a pas pu être remis', token_removed: 'ne reçoit plus de notifications', no_device: 'aucun appareil' },
    snooze: { prompt: 'Me le rappeler plus tard :', '1h': 'Dans 1 heure', tomorrow: 'Demain matin', saving: 'Enregistrement…', done: 'Nous vous le rappellerons le {when}.', doneNoTime: 'Nous vous le rappellerons plus tard.' },
    download: 'Télécharger', noPdfViewer: 'Ce navigateur ne peut pas afficher les PDF dans l’app : téléchargez le document pour le lire.',
    priorityLabel: 'Priorité',
  },
};

/** The reply buttons' words in each language (the pushes' own: render.py's action labels). */
const ACTIONS = {
  en: { approve: 'Approve', reject: 'Reject', acknowledge: 'Acknowledge', request_info: 'Ask for info' },
  de: { approve: 'Genehmigen', reject: 'Ablehnen', acknowledge: 'Bestätigen', request_info: 'Rückfrage' },
  fr: { approve: 'Approuver', reject: 'Rejeter', acknowledge: 'Confirmer', request_info: 'Demander des infos' },
};

/** The first of the browser's languages the app speaks ('en', 'de' or 'fr'). */
export function pickLanguage(languages = globalThis.navigator?.languages || []) {
  for (const tag of languages) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (Object.hasOwn(WORDS, base)) return base;
  }
  return 'en';
}

export const LANGUAGE = pickLanguage();

/** The sentence `key` in the page's language, `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const value = key.split('.').reduce((node, part) => node?.[part], WORDS[LANGUAGE])
    ?? key.split('.').reduce((node, part) => node?.[part], WORDS.en);
  return String(value ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** A reply action's word in the page's language (known ids only). */
export function actionWord(action) {
  return ACTIONS[LANGUAGE][action] ?? ACTIONS.en[action];
}

/** A date and time as the user's language writes it. */
export function when(iso) {
  return new Date(iso).toLocaleString(LANGUAGE, { dateStyle: 'medium', timeStyle: 'short' });
}
